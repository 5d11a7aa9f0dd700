import { type RuntimeProcess, resourcesOf, runsRuntime } from './runtime-process';

interface EcsContainer {
  name: string;
  command?: string[];
  environment?: { name: string; value: string }[];
  secrets?: { name: string; valueFrom: string }[];
}

/** The ECS services' runtime containers (one task definition per blue-green slot). */
export function awsContainers(stack: any): RuntimeProcess[] {
  return resourcesOf(stack, 'aws_ecs_task_definition').flatMap(([name, task]) =>
    (JSON.parse(task.container_definitions) as EcsContainer[])
      .filter((c) => runsRuntime(c.command))
      .map((c) => ({
        name: `aws_ecs_task_definition.${name}/${c.name}`,
        command: c.command!,
        env: Object.fromEntries((c.environment ?? []).map((e) => [e.name, e.value])),
        secrets: Object.fromEntries((c.secrets ?? []).map((s) => [s.name, s.valueFrom])),
        listed: [...(c.environment ?? []), ...(c.secrets ?? [])].map((e) => e.name),
      })),
  );
}

/** The SQS-triggered Lambda worker: its handler file and environment (it reads its secrets by ARN). */
export function awsLambda(stack: any): {
  handler: string;
  env: Record<string, string>;
  /** The deployment package, relative to the stack's folder in cdktf.out. */
  filename: string;
  memoryMb: number;
} {
  const [[, fn]] = resourcesOf(stack, 'aws_lambda_function', 'worker_function');
  return { handler: fn.handler, env: fn.environment.variables, filename: fn.filename, memoryMb: fn.memory_size };
}
