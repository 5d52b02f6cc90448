import { runCli } from '../src/cli/program';

// npm run cli -- --help lists the commands; each takes --help too.
void runCli(process.argv);
