import { defineSearchAttributeKey } from '@temporalio/common';

/**
 * `FasforgeStage` (Keyword) shows a build's current stage in the Temporal web UI and in
 * `temporal workflow list --query "FasforgeStage='review'"`. The dev server fasforge starts
 * registers it; on a cluster run `temporal operator search-attribute create --name FasforgeStage --type Keyword`.
 */
export const stageAttribute = defineSearchAttributeKey('FasforgeStage', 'KEYWORD');
