import { Construct } from 'constructs';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';

/** One IAM statement; actions are always listed (never `*`) and resources are ARNs wherever the service allows. */
export interface IamStatement {
  readonly sid?: string;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly condition?: Record<string, Record<string, string | string[]>>;
}

/** Renders statements as an IAM policy document (JSON, so that policy checks can read it). */
export function policyDocument(statements: readonly IamStatement[]): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: statements.map((s) => ({
      ...(s.sid ? { Sid: s.sid } : {}),
      Effect: 'Allow',
      Action: [...s.actions],
      Resource: [...s.resources],
      ...(s.condition ? { Condition: s.condition } : {}),
    })),
  });
}

export interface ServiceRoleProps {
  /** Role name. */
  readonly name: string;
  /** Service principal that assumes it, e.g. `ecs-tasks.amazonaws.com`. */
  readonly service: string;
  /** Account id: the trust policy only accepts calls made on behalf of this account. */
  readonly accountId: string;
  /** Inline permissions; empty gives a role with no permissions. */
  readonly statements: readonly IamStatement[];
}

/** An IAM role for one AWS service with one inline least-privilege policy. */
export class ServiceRole extends Construct {
  readonly role: IamRole;

  constructor(scope: Construct, id: string, props: ServiceRoleProps) {
    super(scope, id);
    this.role = new IamRole(this, 'role', {
      name: props.name,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: props.service },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'aws:SourceAccount': props.accountId } },
          },
        ],
      }),
    });
    if (props.statements.length > 0) {
      new IamRolePolicy(this, 'policy', {
        name: props.name,
        role: this.role.id,
        policy: policyDocument(props.statements),
      });
    }
  }

  get arn(): string {
    return this.role.arn;
  }
}
