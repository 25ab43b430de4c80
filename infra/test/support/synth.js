'use strict';
// Synthesizes the app for tests: always with the placeholder code (the aarch64 target is not
// needed to test the infrastructure), in-process, with helpers to read the templates.

const { Template } = require('aws-cdk-lib/assertions');
const { buildApp } = require('../../lib/app');
const { tempDir } = require('./temp');

/**
 * Builds the app (cdk-nag on unless `nag: false`) in a fresh temp dir and returns the stacks and
 * their templates; with `toDisk: true` also the cloud assembly's directory (`assemblyDir`).
 */
function synthesize({ context = {}, nag = true, toDisk = false, skipBundling = true } = {}) {
  const outdir = tempDir('cdk-');
  const built = buildApp({ context, nag, outdir, skipBundling });
  const templates = {
    common: Template.fromStack(built.common),
    slack: Template.fromStack(built.slack),
  };
  let assemblyDir;
  if (toDisk) {
    assemblyDir = built.app.synth().directory;
  }
  return { ...built, templates, assemblyDir };
}

/** The logical ID of the single resource of `type` whose logical ID starts with `prefix`. */
function logicalId(template, type, prefix) {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) {
    throw new Error(`expected one ${type} named ${prefix}*, found ${JSON.stringify(ids)}`);
  }
  return ids[0];
}

/** Every resource of a template as [logicalId, resource] pairs. */
function resources(template) {
  return Object.entries(template.toJSON().Resources);
}

module.exports = { logicalId, resources, synthesize };
