"""The Secrets Manager secret holding the Genesys Cloud OAuth client credentials.

Either the stack creates it (ops then put ``{"clientId": "...", "clientSecret": "..."}`` into it) or
an existing secret is used by name. The value never appears in code, context or the template.
"""

from __future__ import annotations

from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks import compliance


class GenesysSecret(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, key: kms.IKey, existing_name: str | None
    ) -> None:
        super().__init__(scope, construct_id)
        self.created = existing_name is None
        if existing_name is not None:
            self.secret: secretsmanager.ISecret = secretsmanager.Secret.from_secret_name_v2(
                self, "ExistingOAuthClient", existing_name
            )
            # Lambdas get the name: GetSecretValue accepts it, and a partial ARN would not do.
            self.secret_id = existing_name
            # IAM matches the full ARN, which ends in "-" and six characters Secrets Manager adds.
            self.policy_arn = f"{self.secret.secret_arn}-??????"
        else:
            self.secret = self._build_secret(key)
            self.secret_id = self.secret.secret_arn
            self.policy_arn = self.secret.secret_arn

    def _build_secret(self, key: kms.IKey) -> secretsmanager.ISecret:
        # L1 on purpose: the L2 Secret also writes grants for Secrets Manager into the key policy
        # (kms:GenerateDataKey*, kms:ReEncrypt* to the account root), which the root's
        # delegation to IAM already covers; the readers get kms:Decrypt in their own roles.
        resource = secretsmanager.CfnSecret(
            self,
            "OAuthClient",
            description=(
                'Genesys Cloud OAuth client credentials, JSON {"clientId": "...", '
                '"clientSecret": "..."}. Set by ops after deploy.'
            ),
            kms_key_id=key.key_arn,
            # CloudFormation must give a new secret some value; this one is JSON without clientId
            # and clientSecret, so the pipeline fails with SecretInvalid until ops set the pair.
            generate_secret_string=secretsmanager.CfnSecret.GenerateSecretStringProperty(
                secret_string_template="{}",  # noqa: S106 - an empty JSON object
                generate_string_key="placeholder",
                exclude_punctuation=True,
            ),
        )
        compliance.apply(resource, compliance.GENESYS_SECRET)
        # Ref of a secret is its complete ARN.
        return secretsmanager.Secret.from_secret_attributes(
            self, "OAuthClientRef", secret_complete_arn=resource.ref, encryption_key=key
        )
