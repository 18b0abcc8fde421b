"""The lab's web console for municipal staff, in French: a client of the API, served by its process."""
