export { compileHogQL, validateHogQL, type CompiledHogQL } from './compiler';
export { parseHogQL } from './parser';
export { HogQLError } from './tokenizer';
