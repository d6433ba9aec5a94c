#!/usr/bin/env node
/** The `shoal` command line. */
import { Builtins, Cli } from 'clipanion';
import { ServeCommand } from './serve-command.js';

const cli = new Cli({ binaryLabel: 'Shoal SFU', binaryName: 'shoal', binaryVersion: '0.1.0' });
cli.register(ServeCommand);
cli.register(Builtins.HelpCommand);
cli.register(Builtins.VersionCommand);

const code = await cli.run(process.argv.slice(2));
process.exitCode = code;
