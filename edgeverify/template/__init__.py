"""Before the deploy: the config rules on a CloudFormation, SAM or `cdk synth` template (`edgeverify audit`).

source.py reads and validates (cfn-lint), resolve.py resolves intrinsic functions, convert.py gives the
distribution the live API's shape with AWS's defaults, audit.py runs the config rules unchanged on it, locates
each finding in the template and predicts the outside check that will show it; cli.py is the command.
"""
