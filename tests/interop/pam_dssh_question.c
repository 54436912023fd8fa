/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A PAM module for the keyboard-interactive interop test only (never
 * installed): asks one question of its own through the conversation and
 * succeeds when the answer matches.
 *   auth required /path/pam_dssh_question.so prompt=Code: answer=424242 [echo]
 * Also sends an info text first, so that the client shows an instruction.
 */
#include <stdlib.h>
#include <string.h>

#include <security/pam_modules.h>
#include <security/pam_ext.h>

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const char *prompt = "Code: ", *answer = NULL;
	char *resp = NULL;
	int echo = 0, rc;

	(void)flags;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "prompt=", 7) == 0)
			prompt = argv[i] + 7;
		else if (strncmp(argv[i], "answer=", 7) == 0)
			answer = argv[i] + 7;
		else if (strcmp(argv[i], "echo") == 0)
			echo = 1;
	}
	if (answer == NULL)
		return PAM_AUTH_ERR;
	pam_info(pamh, "dssh test: second factor");
	rc = pam_prompt(pamh, echo ? PAM_PROMPT_ECHO_ON : PAM_PROMPT_ECHO_OFF, &resp,
	    "%s", prompt);
	if (rc != PAM_SUCCESS)
		return rc;
	rc = resp != NULL && strcmp(resp, answer) == 0 ? PAM_SUCCESS : PAM_AUTH_ERR;
	if (resp != NULL) {
		explicit_bzero(resp, strlen(resp));
		free(resp);
	}
	return rc;
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
