"""What operators and beat do to jobs: the reconciler, the operator commands, the overview."""
