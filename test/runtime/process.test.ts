import { ProcessRuntime } from '../../server/runtime/process.js';
import { runtimeContract } from './contract.js';

runtimeContract('process', () => new ProcessRuntime());
