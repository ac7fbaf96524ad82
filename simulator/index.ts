/**
 * fasforge's offline OpenAI-compatible MLLM simulator: deterministic answers to the product's
 * construction, augmentation and judge prompts, with injectable faults.
 */
export type { SimulatorFaults } from './faults';
export type { SimulatorOptions, RunningSimulator } from './server';
export { startSimulator, MODEL_PREFIX } from './server';
export { labelHintLine } from './prompt-parser';
export { SIMULATOR_FLAGS, simulatorFlagHelp, simulatorOptionsFrom } from './flags';
