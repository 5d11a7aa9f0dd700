/**
 * The command a cloud's runtime containers start: the image holds one bundle per cloud
 * (scripts/build-runtime.js), each carrying only the queue SDK that cloud selects, and the image's
 * own CMD (main.js) is the local one. Set as the container's CMD, so the image's entrypoint stays.
 */
export type RuntimeBundle = 'aws' | 'gcp' | 'azure' | 'oci' | 'ibm';

export const runtimeCommand = (bundle: RuntimeBundle): string[] => ['node', `dist/runtime/${bundle}.js`];
