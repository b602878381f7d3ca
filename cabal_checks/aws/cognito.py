"""Cognito: find the admin app's client, mint an id token for the /list probe."""

from __future__ import annotations

from .reader import AwsReader


def client_ids(aws: AwsReader, pool_name: str, client_name: str) -> list[str]:
    """The id of the client ``client_name`` in every pool named ``pool_name``: pool names need not be unique (a
    neighbouring stack's pool may be ``cabal`` too, with a ``cabal_admin_client`` of its own)."""
    ids = []
    for pool in aws.pages("cognito-idp", "list_user_pools", "UserPools", MaxResults=60):
        if pool["Name"] == pool_name:
            for client in aws.pages("cognito-idp", "list_user_pool_clients", "UserPoolClients",
                                    UserPoolId=pool["Id"], MaxResults=60):
                if client["ClientName"] == client_name:
                    ids.append(client["ClientId"])
    return ids


def mint_id_token(aws: AwsReader, client_id_: str, username: str, password: str) -> str:
    """``InitiateAuth(USER_PASSWORD_AUTH)``: changes nothing in the account, returns a fresh id token."""
    out = aws.call("cognito-idp", "initiate_auth", ClientId=client_id_, AuthFlow="USER_PASSWORD_AUTH",
                   AuthParameters={"USERNAME": username, "PASSWORD": password})
    return out["AuthenticationResult"]["IdToken"]
