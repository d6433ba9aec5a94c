/** Option validators shared by the commands (clipanion + typanion): a usage error names the option and the bound. */
import * as t from 'typanion';

/** Any whole number (the configuration checks the range and says what is wrong). */
export const integer = t.cascade(t.isNumber(), [t.isInteger()]);

/** 0, 1, 2, … */
export const wholeNumber = t.cascade(t.isNumber(), [t.isInteger(), t.isAtLeast(0)]);

/** 1, 2, 3, … */
export const countingNumber = t.cascade(t.isNumber(), [t.isInteger(), t.isAtLeast(1)]);
