import { notYet } from "./not-yet.js";

export const envCommand = notYet("env", "placeholder");
