import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { FunctionSettings } from '../../shared/resources.js';

/** The repository root, from which function entry files are resolved. */
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** `functions/<name>/handler.ts`, exporting `handler`: the layout of every control-plane function. */
export function controlFunctionEntry(name: string): string {
  return `${repoRoot}functions/${name}/handler.ts`;
}

export function repoPath(relative: string): string {
  return `${repoRoot}${relative}`;
}

export interface NodeFunctionProps {
  entry: string;
  description: string;
  settings: FunctionSettings;
  environment: Record<string, string>;
}

/**
 * A Lambda function bundled locally by esbuild as one ESM file. The AWS SDK is bundled too
 * (not taken from the runtime), so AWS runs the same SDK versions the tests ran.
 */
export function nodeFunction(scope: Construct, id: string, props: NodeFunctionProps): NodejsFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  return new NodejsFunction(scope, id, {
    entry: props.entry,
    handler: 'handler',
    description: props.description,
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    memorySize: props.settings.memoryMb,
    timeout: Duration.seconds(props.settings.timeoutSeconds),
    environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
    logGroup,
    bundling: {
      format: OutputFormat.ESM,
      target: 'node24',
      mainFields: ['module', 'main'],
      // Some dependencies are CommonJS and call require(); ESM has none, so give them one.
      banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      externalModules: [],
      minify: true,
      sourceMap: true,
      sourcesContent: false,
    },
  });
}
