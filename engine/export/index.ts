/**
 * Export formats: Hugging Face model folders (full or changed tensors only), llama.cpp GGUF control vectors, and
 * steering directions as safetensors, and the export folder's README.md (readme.ts). Each writer is atomic; the
 * tests read every format back with an independent reader.
 *
 * Non-goals: uploads, sharding, quantised formats.
 */
export { buildFolderAtomic, checkReplaceable, ExportError, writeFileAtomic } from './atomic';
export {
  applyHfExport,
  exportHfModel,
  loadChangedExport,
  readHfExportManifest,
  EXPORT_MANIFEST,
  LLAMA2C_MODEL,
  HF_EXPORT_FORMAT,
  TOKENIZER_FILES,
  type HfExportManifest,
  type HfExportOptions,
  type HfExportResult,
} from './hf';
export { controlVectorTensorName, llamaCppArchitecture, writeGgufControlVector, GGUF_ALIGNMENT, type ControlVectorMeta } from './gguf';
export { controlVectorLayersNote, exportReadme, llamaCppCommand, type ControlVectorInfo, type ExportReadme } from './readme';
export { writeLlama2cCheckpoint } from './llama2c';
export { convertLlama2cTokenizer, type ConvertedTokenizer } from './llama2c-tokenizer';
export { directionTensorName, readDirectionsSafetensors, writeDirectionsSafetensors, DIRECTIONS_FORMAT, type DirectionsFile } from './directions';
