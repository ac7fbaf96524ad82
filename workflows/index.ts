export { buildDatasetWorkflow } from './build-dataset';
export { clipFilterWorkflow } from './clip-filter';
export { generateRecordsWorkflow } from './generate-records';
export { sftPipelineWorkflow } from './sft-pipeline';
