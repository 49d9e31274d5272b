"""Policy as code: who must approve what. Pure: the service passes facts in, gets a Decision."""
