import { CustomResource, Stack } from 'aws-cdk-lib';
import { CfnFunction, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

export interface BootstrapProps {
  /** `functions/bootstrap`: creates the admin user, project and roles and the default flavors. */
  handler: IFunction;
  /** Passed to the handler as resource properties. */
  properties: Record<string, string>;
}

/**
 * Runs the bootstrap function at deploy time, through the CDK Provider framework: the function
 * receives the CloudFormation event (RequestType Create / Update / Delete) and returns
 * `{ PhysicalResourceId }`. It runs on the first deploy, and again whenever its properties or
 * its code change, so it must be idempotent.
 */
export class Bootstrap extends Construct {
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: BootstrapProps) {
    super(scope, id);
    const provider = new Provider(this, 'Provider', { onEventHandler: props.handler });
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::NovalessBootstrap',
      properties: { ...props.properties, CodeVersion: codeVersionOf(props.handler) },
    });
  }
}

/** The bundle's asset key (a hash of the code): a new bundle re-runs the bootstrap. */
function codeVersionOf(fn: IFunction): string {
  const cfn = fn.node.defaultChild;
  if (!(cfn instanceof CfnFunction)) throw new Error('bootstrap handler must be a Lambda function of this stack');
  const code = Stack.of(fn).resolve(cfn.code) as { s3Key?: unknown; S3Key?: unknown };
  const key = code.s3Key ?? code.S3Key;
  if (typeof key !== 'string') throw new Error('cannot read the bootstrap function code key');
  return key;
}
