import { notYet } from "./not-yet.js";

export const prepullCommand = notYet("prepull", "placeholder");
