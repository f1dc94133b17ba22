"""The registrant's front page `/me/`: one summary of everything a signed-in
specialist looks after. It only reads; each block links to the page that acts."""
