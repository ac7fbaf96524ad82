import { defineSearchAttributeKey } from '@temporalio/common';

/**
 * fasforge's custom search attributes, all Keyword, for the Temporal web UI and for visibility
 * queries such as `temporal workflow list --query "FasforgeStage='review'"`:
 * - `FasforgeBuildId`: the build a workflow belongs to (the build itself and its child workflows);
 * - `FasforgeStage`: the stage a build or child workflow is in;
 * - `FasforgeDatasetVersion`: the dataset version id of a build's export, once written.
 * The dev server fasforge starts registers them; on a cluster create each one with
 * `temporal operator search-attribute create --namespace <ns> --name <Name> --type Keyword`.
 */
export const buildIdAttribute = defineSearchAttributeKey('FasforgeBuildId', 'KEYWORD');
export const stageAttribute = defineSearchAttributeKey('FasforgeStage', 'KEYWORD');
export const datasetVersionAttribute = defineSearchAttributeKey('FasforgeDatasetVersion', 'KEYWORD');

/** The same attributes by name and Temporal CLI type, for registering them on a server. */
export const SEARCH_ATTRIBUTE_TYPES = {
  FasforgeBuildId: 'Keyword',
  FasforgeStage: 'Keyword',
  FasforgeDatasetVersion: 'Keyword',
} as const;
