"""Cognito: find the admin app's client, mint an id token for the /list probe."""

from __future__ import annotations

from .reader import AwsReader


def client_id(aws: AwsReader, pool_name: str, client_name: str) -> str | None:
    for pool in aws.pages("cognito-idp", "list_user_pools", "UserPools", MaxResults=60):
        if pool["Name"] == pool_name:
            for client in aws.pages("cognito-idp", "list_user_pool_clients", "UserPoolClients",
                                    UserPoolId=pool["Id"], MaxResults=60):
                if client["ClientName"] == client_name:
                    return client["ClientId"]
    return None


def mint_id_token(aws: AwsReader, client_id_: str, username: str, password: str) -> str:
    """``InitiateAuth(USER_PASSWORD_AUTH)``: changes nothing in the account, returns a fresh id token."""
    out = aws.call("cognito-idp", "initiate_auth", ClientId=client_id_, AuthFlow="USER_PASSWORD_AUTH",
                   AuthParameters={"USERNAME": username, "PASSWORD": password})
    return out["AuthenticationResult"]["IdToken"]
