"""exomir.plotting: figures drawn from exomir's results (the transfer network page in
:mod:`exomir.plotting.network`)."""
