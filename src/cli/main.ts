/** Entry point of the `shardgate` binary. */
import { buildProgram } from './program.js';

await buildProgram().parseAsync(process.argv);
