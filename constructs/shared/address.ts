import { type TerraformResource, TerraformStack } from 'cdktf';

/** `<type>.<logical id>` of a resource, as it appears in the synthesized JSON (what provide() records). */
export function addressOf(resource: TerraformResource): string {
  return `${resource.terraformResourceType}.${TerraformStack.of(resource).getLogicalId(resource)}`;
}
