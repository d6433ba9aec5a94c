#!/usr/bin/env node
/** The `shoal` command line. */
import { Builtins, Cli } from 'clipanion';
import { BenchCommand } from './bench-command.js';
import { LoadtestCommand } from './loadtest-command.js';
import { ServeCommand } from './serve-command.js';
import { TokenCommand } from './token-command.js';

const cli = new Cli({
  binaryLabel: 'Shoal SFU',
  binaryName: 'shoal',
  binaryVersion: '0.1.0',
  enableColors: Boolean(process.stdout.isTTY),
});
cli.register(ServeCommand);
cli.register(BenchCommand);
cli.register(LoadtestCommand);
cli.register(TokenCommand);
cli.register(Builtins.HelpCommand);
cli.register(Builtins.VersionCommand);

// Exit explicitly: idle HTTP keep-alive connections must not hold a drained node open.
process.exit(await cli.run(process.argv.slice(2)));
