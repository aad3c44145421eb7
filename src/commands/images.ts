import { notYet } from "./not-yet.js";

export const imagesCommand = notYet("images", "placeholder");
