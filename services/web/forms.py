"""Forms of the web service: they parse and validate input; the domain decides the rest."""

from django import forms

from domain.models import Poll


class VoteForm(forms.Form):
    """The answer a user picks in a poll: a choice id, checked against the poll by the domain."""

    choice = forms.IntegerField(
        min_value=1,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Pick an answer to vote.",
            "invalid": "Pick one of the answers below.",
            "min_value": "Pick one of the answers below.",
        },
    )

    def show_choices_of(self, poll: Poll) -> None:
        """Draw one radio button per choice of the poll.

        Only rendering needs the choices: a POST is parsed without loading the poll, and the
        domain (vote_cast) is what rejects a choice of another poll.
        """
        self.fields["choice"].widget.choices = [(c.pk, c.text) for c in poll.choices.all()]
