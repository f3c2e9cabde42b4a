"""Forms of the web service: they parse and validate input; the domain decides the rest."""

from django import forms

from domain.models import Poll
from runtime.url_numbers import BIGINT_MAX, id_number


class IdField(forms.IntegerField):
    """A database id: ASCII digits only (no sign or spaces), from 1 to bigint's maximum.

    Django's IntegerField also reads other scripts' digits ("١٢"), " 1" and "1.0", and has no
    upper bound, so an id beyond bigint would reach PostgreSQL.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, str) and value not in self.empty_values and id_number(value) is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class VoteForm(forms.Form):
    """The answer a user picks in a poll: a choice id, checked against the poll by the domain."""

    choice = IdField(
        widget=forms.RadioSelect,
        error_messages={
            "required": "Pick an answer to vote.",
            "invalid": "Pick one of the answers below.",
            "min_value": "Pick one of the answers below.",
            "max_value": "Pick one of the answers below.",
        },
    )

    def show_choices_of(self, poll: Poll) -> None:
        """Draw one radio button per choice of the poll.

        Only rendering needs the choices: a POST is parsed without loading the poll, and the
        domain (vote_cast) is what rejects a choice of another poll.
        """
        self.fields["choice"].widget.choices = [(c.pk, c.text) for c in poll.choices.all()]
