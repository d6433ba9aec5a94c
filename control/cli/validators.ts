/** Option validators shared by the commands (clipanion + typanion): a usage error names the option and the bound. */
import * as t from 'typanion';

/** 0, 1, 2, … */
export const wholeNumber = t.cascade(t.isNumber(), [t.isInteger(), t.isAtLeast(0)]);

/** 1, 2, 3, … */
export const countingNumber = t.cascade(t.isNumber(), [t.isInteger(), t.isAtLeast(1)]);
