import { CustomResource, Stack } from 'aws-cdk-lib';
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { nodeFunction, repoPath } from './node-function.js';

export interface SecureParameterSpec {
  /** Construct id of the parameter's custom resource. */
  id: string;
  name: string;
  description: string;
  length: number;
}

/**
 * Random secrets kept as SSM SecureString parameters (the form the functions read), created at
 * deploy time by a custom resource: CloudFormation cannot create SecureString parameters.
 */
export class GeneratedSecureParameters extends Construct {
  private readonly resources = new Map<string, { resource: CustomResource; arn: string }>();

  constructor(scope: Construct, id: string, specs: SecureParameterSpec[]) {
    super(scope, id);
    const creator = nodeFunction(this, 'Creator', {
      entry: repoPath('infra/custom-resources/generated-secure-parameter.ts'),
      description: 'Creates the random SSM SecureString parameters of novaless at deploy time',
      settings: { memoryMb: 256, timeoutSeconds: 30 },
      environment: { POWERTOOLS_SERVICE_NAME: 'novaless-deploy' },
    });
    const provider = new Provider(this, 'Provider', { onEventHandler: creator });
    for (const spec of specs) {
      const arn = parameterArn(this, spec.name);
      creator.addToRolePolicy(new PolicyStatement({ actions: ['ssm:PutParameter'], resources: [arn] }));
      const resource = new CustomResource(this, spec.id, {
        serviceToken: provider.serviceToken,
        resourceType: 'Custom::NovalessSecureParameter',
        properties: { ParameterName: spec.name, Description: spec.description, Length: spec.length },
      });
      this.resources.set(spec.name, { resource, arn });
    }
  }

  /** Lets `grantee` read (and, with the AWS-managed aws/ssm key, decrypt) the named parameter. */
  grantRead(name: string, grantee: IGrantable): void {
    const entry = this.resources.get(name);
    if (!entry) throw new Error(`no generated parameter named ${name}`);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['ssm:GetParameter'], resources: [entry.arn] }),
    );
  }

  /** The custom resource that creates the named parameter, for ordering dependants after it. */
  creatorOf(name: string): CustomResource {
    const entry = this.resources.get(name);
    if (!entry) throw new Error(`no generated parameter named ${name}`);
    return entry.resource;
  }
}

function parameterArn(scope: Construct, name: string): string {
  // Parameter names start with "/", which the ARN drops: arn:...:parameter/novaless/...
  return Stack.of(scope).formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\//, '') });
}
