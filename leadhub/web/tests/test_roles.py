import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from leadhub.web.roles import MANAGER, REP, REVOPS, role_of
from reps.models import Rep
from reps.tests.factories import RepFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_three_groups_exist_and_a_reps_group_follows_its_role():
    assert set(Group.objects.values_list("name", flat=True)) >= {"Rep", "Manager", "RevOps"}
    rep = RepFactory()
    assert list(rep.user.groups.values_list("name", flat=True)) == ["Rep"]

    rep.role = Rep.Role.MANAGER
    rep.save()

    assert list(rep.user.groups.values_list("name", flat=True)) == ["Manager"]


def test_role_of_each_kind_of_person():
    revops = UserFactory()
    revops.groups.add(Group.objects.get(name="RevOps"))
    assert role_of(revops) == REVOPS
    assert role_of(UserFactory(is_superuser=True)) == REVOPS
    assert role_of(RepFactory(role=Rep.Role.MANAGER).user) == MANAGER
    assert role_of(RepFactory().user) == REP
    assert role_of(RepFactory(active=False).user) is None
    assert role_of(UserFactory()) is None


def test_sign_in_and_out(client):
    user = UserFactory(username="ana")
    page = client.get(reverse("web:login"))
    assert page.status_code == 200 and 'for="id_username"' in page.content.decode()

    bad = client.post(reverse("web:login"), {"username": "ana", "password": "wrong"})
    assert bad.status_code == 200 and "didn't match" in bad.content.decode()

    good = client.post(reverse("web:login"), {"username": "ana", "password": "pw-for-tests-only"})
    assert good.status_code == 302 and good["Location"] == reverse("web:home")
    assert client.session["_auth_user_id"] == str(user.pk)

    assert client.get(reverse("web:logout")).status_code == 405  # sign-out is a POST
    client.post(reverse("web:logout"))
    assert "_auth_user_id" not in client.session


def test_a_signed_in_person_with_no_role_is_told_so(client):
    client.force_login(UserFactory())
    response = client.get(reverse("web:home"))
    assert response.status_code == 403 and "No pages for you yet" in response.content.decode()


def test_pages_need_sign_in(client):
    response = client.get(reverse("web:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))
