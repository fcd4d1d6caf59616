"""Shared test setup: the jsii banner is silenced before aws_cdk is imported."""

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
