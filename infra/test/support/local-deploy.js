'use strict';
// `cdk deploy`, done by hand against moto: bootstrap (assets bucket and bootstrap version
// parameter), publish the stack's assets from the cloud assembly's asset manifest (function code
// zipped, template uploaded), CreateStack with the template URL, and wait for the outcome.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
} = require('@aws-sdk/client-cloudformation');
const { CreateBucketCommand, PutObjectCommand, S3Client } = require('@aws-sdk/client-s3');
const { PutParameterCommand, SSMClient } = require('@aws-sdk/client-ssm');
const { LOCAL_REGION, MOTO_ACCOUNT_ID, clientConfig, venvTool } = require('./moto');
const { tempDir } = require('./temp');
const { waitFor } = require('./wait');

/** What `cdk bootstrap` creates and DefaultStackSynthesizer templates refer to. */
const BOOTSTRAP_QUALIFIER = 'hnb659fds';
const ASSETS_BUCKET = `cdk-${BOOTSTRAP_QUALIFIER}-assets-${MOTO_ACCOUNT_ID}-${LOCAL_REGION}`;
const BOOTSTRAP_VERSION_PARAMETER = `/cdk-bootstrap/${BOOTSTRAP_QUALIFIER}/version`;
const BOOTSTRAP_VERSION = '30';

const CREATE_TIMEOUT_MS = 120_000;

/** Replaces the synthesizer's placeholders in an asset destination. */
function resolvePlaceholders(text) {
  return text
    .replaceAll('${AWS::AccountId}', MOTO_ACCOUNT_ID)
    .replaceAll('${AWS::Region}', LOCAL_REGION)
    .replaceAll('${AWS::Partition}', 'aws');
}

/** Zips a directory the way cdk-assets does (files at the archive root), with Python's zipfile. */
function zipDirectory(directory) {
  const base = path.join(tempDir('asset-'), 'asset');
  execFileSync(venvTool('python'), ['-c', 'import shutil, sys; shutil.make_archive(sys.argv[1], "zip", sys.argv[2])', base, directory]);
  return fs.readFileSync(`${base}.zip`);
}

class LocalDeployer {
  constructor(endpoint) {
    const config = clientConfig(endpoint);
    this.s3 = new S3Client(config);
    this.ssm = new SSMClient(config);
    this.cloudFormation = new CloudFormationClient(config);
  }

  /** The assets bucket and the bootstrap version parameter (the template checks it exists). */
  async bootstrap() {
    await this.s3.send(new CreateBucketCommand({ Bucket: ASSETS_BUCKET }));
    await this.ssm.send(
      new PutParameterCommand({ Name: BOOTSTRAP_VERSION_PARAMETER, Value: BOOTSTRAP_VERSION, Type: 'String', Overwrite: true }),
    );
  }

  /**
   * Publishes every file asset of `stackName` from the cloud assembly in `assemblyDir` and
   * returns the template's URL.
   */
  async publishAssets(assemblyDir, stackName) {
    const manifest = JSON.parse(fs.readFileSync(path.join(assemblyDir, `${stackName}.assets.json`), 'utf8'));
    let templateUrl;
    for (const asset of Object.values(manifest.files)) {
      const source = path.join(assemblyDir, asset.source.path);
      const body = asset.source.packaging === 'zip' ? zipDirectory(source) : fs.readFileSync(source);
      for (const destination of Object.values(asset.destinations)) {
        const bucket = resolvePlaceholders(destination.bucketName);
        const key = resolvePlaceholders(destination.objectKey);
        await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        if (asset.source.path.endsWith('.template.json')) {
          templateUrl = `https://s3.${LOCAL_REGION}.amazonaws.com/${bucket}/${key}`;
        }
      }
    }
    if (!templateUrl) {
      throw new Error(`no template asset for ${stackName} in ${assemblyDir}`);
    }
    return templateUrl;
  }

  /** CreateStack and wait until it leaves CREATE_IN_PROGRESS; resolves to the final stack. */
  async createStack({ stackName, templateUrl, parameters = {} }) {
    await this.cloudFormation.send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateURL: templateUrl,
        Parameters: Object.entries(parameters).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue })),
        Capabilities: ['CAPABILITY_IAM'],
      }),
    );
    const stack = await waitFor(`${stackName} to finish creating`, CREATE_TIMEOUT_MS, async () => {
      const { Stacks } = await this.cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
      const current = Stacks[0];
      return current.StackStatus.endsWith('_IN_PROGRESS') ? null : current;
    });
    if (stack.StackStatus !== 'CREATE_COMPLETE') {
      const { StackEvents } = await this.cloudFormation.send(new DescribeStackEventsCommand({ StackName: stackName }));
      const failures = StackEvents.filter((event) => /FAILED/.test(event.ResourceStatus ?? ''))
        .map((event) => `${event.LogicalResourceId} (${event.ResourceType}): ${event.ResourceStatusReason}`)
        .join('\n');
      throw new Error(`${stackName}: ${stack.StackStatus} ${stack.StackStatusReason ?? ''}\n${failures}`);
    }
    return stack;
  }

  /** `{OutputKey: OutputValue}` of a created stack. */
  static outputs(stack) {
    return Object.fromEntries((stack.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
  }
}

module.exports = { ASSETS_BUCKET, BOOTSTRAP_VERSION_PARAMETER, LocalDeployer };
