/**
 * The typed RunConfig and the language's enumerations are declared once, in protocol/contract.ts; this module
 * re-exports them for the language's own modules.
 */
export * from '../protocol/contract';
