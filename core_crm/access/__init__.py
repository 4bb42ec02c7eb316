"""Who may do what: teams, roles (permission profiles with scopes) and record sharing."""
