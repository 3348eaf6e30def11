import { ActionError, InputError } from '../../errors.js';
import type { Step } from '../target.js';
import { GONE, type IamConnection } from './client.js';
import { TAG_ASSIGNMENT } from './facts.js';

/** Writing IAM: each step as IAM calls, each idempotent ("already gone" is done). */

/** Reached only if a kind is added to IamStep without a case in `apply`: the compiler refuses that. */
function unknownStep(step: never): never {
  throw new InputError(`The AWS target does not know step ${(step as { id?: unknown }).id}.`, { code: 'aws.step' });
}

/** `tagsOf` reads a user's tags: a CreateUser that finds the user already there checks whose it is. */
export function createIamWriter(conn: IamConnection, tagsOf: (username: string) => Promise<Record<string, string>>): (step: Step) => Promise<void> {
  const { sdk, client, where, call, must } = conn;

  const tagList = (tags: Record<string, string>): { Key: string; Value: string }[] => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

  async function apply(s: Step): Promise<void> {
    if (s.target !== 'aws') throw new InputError(`Step ${s.id} is not an AWS step.`, { code: 'aws.step' });
    const UserName = s.params.username;
    switch (s.kind) {
      case 'aws.user.create': {
        const tags = tagList(s.params.tags);
        const boundary = s.params.permissionsBoundary;
        const made = await call(
          `CreateUser ${UserName}`,
          () => client.send(new sdk.CreateUserCommand({ UserName, Path: s.params.path, Tags: tags, ...(boundary ? { PermissionsBoundary: boundary } : {}) })),
          ['EntityAlreadyExists'],
        );
        if (made) return;
        // A retry after a crash finds its own user; anyone else's user is not taken over.
        const want = tags.find((t) => t.Key === TAG_ASSIGNMENT)?.Value;
        const have = (await tagsOf(UserName))[TAG_ASSIGNMENT];
        if (have !== want) {
          throw new ActionError(`${where}: user ${UserName} appeared meanwhile and ${have ? `belongs to assignment ${have}` : 'has no detailee tags'}; not taking it over.`, {
            code: 'aws.foreign-user',
            details: { target: 'aws', operation: 'CreateUser', username: UserName, recordedAssignment: have ?? null },
          });
        }
        return;
      }
      case 'aws.user.path':
        await must(`UpdateUser ${UserName}`, () => client.send(new sdk.UpdateUserCommand({ UserName, NewPath: s.params.path })));
        return;
      case 'aws.boundary.put':
        await must(`PutUserPermissionsBoundary ${UserName}`, () =>
          client.send(new sdk.PutUserPermissionsBoundaryCommand({ UserName, PermissionsBoundary: s.params.permissionsBoundary })),
        );
        return;
      case 'aws.user.tag':
      case 'aws.revoked.tag':
        await must(`TagUser ${UserName}`, () => client.send(new sdk.TagUserCommand({ UserName, Tags: tagList(s.params.tags) })));
        return;
      case 'aws.term.put':
      case 'aws.revoked.put': {
        const { policyName, document } = s.params;
        await must(`PutUserPolicy ${UserName} ${policyName}`, () =>
          client.send(new sdk.PutUserPolicyCommand({ UserName, PolicyName: policyName, PolicyDocument: document })),
        );
        return;
      }
      case 'aws.group.add': {
        const { group } = s.params;
        await must(`AddUserToGroup ${UserName} ${group}`, () => client.send(new sdk.AddUserToGroupCommand({ UserName, GroupName: group })));
        return;
      }
      case 'aws.policy.attach': {
        const { policyArn } = s.params;
        await must(`AttachUserPolicy ${UserName} ${policyArn}`, () => client.send(new sdk.AttachUserPolicyCommand({ UserName, PolicyArn: policyArn })));
        return;
      }
      case 'aws.key.deactivate': {
        const { accessKeyId } = s.params;
        await call(
          `UpdateAccessKey ${UserName} ${accessKeyId}`,
          () => client.send(new sdk.UpdateAccessKeyCommand({ UserName, AccessKeyId: accessKeyId, Status: 'Inactive' })),
          GONE,
        );
        return;
      }
      case 'aws.login-profile.delete':
        await call(`DeleteLoginProfile ${UserName}`, () => client.send(new sdk.DeleteLoginProfileCommand({ UserName })), GONE);
        return;
      case 'aws.signing-certificate.deactivate': {
        const { certificateId } = s.params;
        await call(
          `UpdateSigningCertificate ${UserName}`,
          () => client.send(new sdk.UpdateSigningCertificateCommand({ UserName, CertificateId: certificateId, Status: 'Inactive' })),
          GONE,
        );
        return;
      }
      case 'aws.ssh-key.deactivate': {
        const { sshPublicKeyId } = s.params;
        await call(
          `UpdateSSHPublicKey ${UserName}`,
          () => client.send(new sdk.UpdateSSHPublicKeyCommand({ UserName, SSHPublicKeyId: sshPublicKeyId, Status: 'Inactive' })),
          GONE,
        );
        return;
      }
      case 'aws.service-credential.deactivate': {
        const { serviceSpecificCredentialId } = s.params;
        await call(
          `UpdateServiceSpecificCredential ${UserName}`,
          () => client.send(new sdk.UpdateServiceSpecificCredentialCommand({ UserName, ServiceSpecificCredentialId: serviceSpecificCredentialId, Status: 'Inactive' })),
          GONE,
        );
        return;
      }
      case 'aws.group.remove': {
        const { group } = s.params;
        await call(`RemoveUserFromGroup ${UserName} ${group}`, () => client.send(new sdk.RemoveUserFromGroupCommand({ UserName, GroupName: group })), GONE);
        return;
      }
      case 'aws.policy.detach': {
        const { policyArn } = s.params;
        await call(`DetachUserPolicy ${UserName} ${policyArn}`, () => client.send(new sdk.DetachUserPolicyCommand({ UserName, PolicyArn: policyArn })), GONE);
        return;
      }
      case 'aws.key.delete': {
        const { accessKeyId } = s.params;
        await call(`DeleteAccessKey ${UserName} ${accessKeyId}`, () => client.send(new sdk.DeleteAccessKeyCommand({ UserName, AccessKeyId: accessKeyId })), GONE);
        return;
      }
      case 'aws.signing-certificate.delete': {
        const { certificateId } = s.params;
        await call(`DeleteSigningCertificate ${UserName}`, () => client.send(new sdk.DeleteSigningCertificateCommand({ UserName, CertificateId: certificateId })), GONE);
        return;
      }
      case 'aws.ssh-key.delete': {
        const { sshPublicKeyId } = s.params;
        await call(`DeleteSSHPublicKey ${UserName}`, () => client.send(new sdk.DeleteSSHPublicKeyCommand({ UserName, SSHPublicKeyId: sshPublicKeyId })), GONE);
        return;
      }
      case 'aws.service-credential.delete': {
        const { serviceSpecificCredentialId } = s.params;
        await call(
          `DeleteServiceSpecificCredential ${UserName}`,
          () => client.send(new sdk.DeleteServiceSpecificCredentialCommand({ UserName, ServiceSpecificCredentialId: serviceSpecificCredentialId })),
          GONE,
        );
        return;
      }
      case 'aws.mfa.deactivate': {
        const { serialNumber } = s.params;
        await call(`DeactivateMFADevice ${UserName}`, () => client.send(new sdk.DeactivateMFADeviceCommand({ UserName, SerialNumber: serialNumber })), GONE);
        return;
      }
      case 'aws.mfa.delete': {
        const { serialNumber } = s.params;
        await call(`DeleteVirtualMFADevice ${serialNumber}`, () => client.send(new sdk.DeleteVirtualMFADeviceCommand({ SerialNumber: serialNumber })), GONE);
        return;
      }
      case 'aws.inline.delete': {
        const { policyName } = s.params;
        await call(`DeleteUserPolicy ${UserName} ${policyName}`, () => client.send(new sdk.DeleteUserPolicyCommand({ UserName, PolicyName: policyName })), GONE);
        return;
      }
      case 'aws.user.delete':
        await call(`DeleteUser ${UserName}`, () => client.send(new sdk.DeleteUserCommand({ UserName })), GONE);
        return;
      default:
        return unknownStep(s);
    }
  }

  return apply;
}
