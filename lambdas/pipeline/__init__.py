"""The deployment pipeline: EventBridge events initialise, deploy and delete project stacks."""
