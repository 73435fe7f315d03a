"""Client authentication at the token endpoint: client secrets, signed assertions, the credentials grant.

The access tokens and signing keys are in libs/common/oauth: the gateway checks what sharing issues.
"""
