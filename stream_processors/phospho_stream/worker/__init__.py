"""faust glue, kept thin: the apps and agents that hand batches to the engines."""
