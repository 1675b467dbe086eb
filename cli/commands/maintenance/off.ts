import type { Command } from 'commander';
import { registerSwitch } from './index.js';

export default function register(program: Command): void {
  registerSwitch(program, false);
}
