// The Dockerfile language: parsing (parse.ts), instructions and stages (instructions.ts), and
// variable substitution (expand.ts). Pure; the builder gives it meaning.

export { DockerfileError } from './errors';
export { expand, expandWord, ExpansionError, type Env } from './expand';
export { readDockerfile, readTriggers, splitWords, type Command, type CommandForm, type Dockerfile, type FromCommand, type KeyValue, type Stage } from './instructions';
export { parseDockerfile, type Heredoc, type Keyword, type ParsedDockerfile, type RawInstruction } from './parse';
