/* SPDX-License-Identifier: BSD-3-Clause */
/* The interactive prompt: libedit's native API with history and tab
 * completion of command words.
 *
 * libedit would block in read() on standard input and never see the stop
 * fd, so its read function (EL_GETCFN) is replaced by one that polls both
 * and, when the stop fd fires, fails the read: el_gets then returns and
 * the flag cli->cancelled says why, even if a half-typed line came back.
 *
 * libedit (and libtinfo, libbsd and libmd under it) is loaded with dlopen
 * when a prompt first starts, so that processes without one never map it;
 * it stays loaded. */
#include <errno.h>
#include <histedit.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "cli_private.h"
#include "hp_dl.h"

#define CLI_HISTORY_SIZE 1000
/* Most completions offered at once (there are 13 commands). */
#define CLI_COMPLETE_MAX 32

#define CLI_LIBEDIT_SONAME "libedit.so.2"
/* The Debian package that holds it, for the error message. */
#define CLI_LIBEDIT_PACKAGE "libedit2"

/* The libedit functions the prompt calls: cli_libedit.X for X. Filled
 * once per process by cli_libedit_load; read-only after. */
static struct cli_libedit {
	__typeof__(el_init) *el_init;
	__typeof__(el_end) *el_end;
	__typeof__(el_gets) *el_gets;
	__typeof__(el_get) *el_get;
	__typeof__(el_set) *el_set;
	__typeof__(el_wset) *el_wset;
	__typeof__(el_source) *el_source;
	__typeof__(el_line) *el_line;
	__typeof__(el_insertstr) *el_insertstr;
	__typeof__(history_init) *history_init;
	__typeof__(history_end) *history_end;
	__typeof__(history) *history;
} cli_libedit;

#define CLI_LIBEDIT_SYM(f) { #f, (void **)&cli_libedit.f }

static const struct hp_dl_sym cli_libedit_syms[] = {
	CLI_LIBEDIT_SYM(el_init),
	CLI_LIBEDIT_SYM(el_end),
	CLI_LIBEDIT_SYM(el_gets),
	CLI_LIBEDIT_SYM(el_get),
	CLI_LIBEDIT_SYM(el_set),
	CLI_LIBEDIT_SYM(el_wset),
	CLI_LIBEDIT_SYM(el_source),
	CLI_LIBEDIT_SYM(el_line),
	CLI_LIBEDIT_SYM(el_insertstr),
	CLI_LIBEDIT_SYM(history_init),
	CLI_LIBEDIT_SYM(history_end),
	CLI_LIBEDIT_SYM(history),
};

static struct hp_dl_lib cli_libedit_dl = HP_DL_LIB(
	"libedit", CLI_LIBEDIT_SONAME, CLI_LIBEDIT_PACKAGE, cli_libedit_syms);

/* Loads libedit into this process, once (thread-safe): 0, or an error
 * line on cli->out and -ELIBACC or -ELIBBAD (see hp_cli.h). */
static int cli_libedit_load(struct hp_cli *cli)
{
	int r = hp_dl_load(&cli_libedit_dl);

	if (r < 0)
		return cli_fail(cli, r, "%s", cli_libedit_dl.why);
	return 0;
}

static struct hp_cli *cli_edit_cli(EditLine *el)
{
	void *cli = NULL;

	cli_libedit.el_get(el, EL_CLIENTDATA, &cli);
	return cli;
}

static char *cli_edit_prompt(EditLine *el)
{
	return (char *)cli_edit_cli(el)->prompt;
}

/* libedit's read function: 1 with a character, 0 at end of input, -1 on
 * error or stop. Reads a byte at a time, never ahead. */
static int cli_edit_getc(EditLine *el, wchar_t *ret_wc)
{
	struct hp_cli *cli = cli_edit_cli(el);
	char buf[MB_LEN_MAX];
	size_t n = 0;

	*ret_wc = L'\0';
	for (;;) {
		mbstate_t mbs;
		ssize_t k;
		size_t m;
		int r = cli_wait(cli, STDIN_FILENO);

		if (r < 0) {
			cli->cancelled = r == -ECANCELED;
			errno = -r;
			return -1;
		}
		k = read(STDIN_FILENO, buf + n, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return (int)k;
		n++;
		memset(&mbs, 0, sizeof(mbs));
		m = mbrtowc(ret_wc, buf, n, &mbs);
		if (m == (size_t)-2 && n < sizeof(buf))
			continue;
		/* not valid in this locale: pass the byte on as it is */
		if (m == (size_t)-1 || m == (size_t)-2)
			*ret_wc = (unsigned char)buf[n - 1];
		return 1;
	}
}

/* Prints the candidates under the line; libedit redraws it after. */
static void cli_edit_list(EditLine *el, const struct cli_word *words,
			  size_t n)
{
	FILE *fp = stdout;

	cli_libedit.el_get(el, EL_GETFP, 1, &fp);
	fputc('\n', fp);
	for (size_t i = 0; i < n; i++)
		fprintf(fp, "%.*s%s", (int)words[i].len, words[i].s,
			i + 1 < n ? "  " : "\n");
	fflush(fp);
}

/* Tab: completes the word under the cursor as far as the candidates agree
 * (and a blank after a single one), or lists them. */
static unsigned char cli_edit_complete(EditLine *el, int ch)
{
	struct cli_word words[CLI_COMPLETE_MAX];
	const LineInfo *li = cli_libedit.el_line(el);
	size_t stem, common, n;
	char add[64];

	(void)ch;
	n = cli_complete(li->buffer, (size_t)(li->cursor - li->buffer), words,
			 HP_ARRAY_SIZE(words), &stem);
	if (n == 0)
		return CC_ERROR;
	common = words[0].len;
	for (size_t i = 1; i < n; i++) {
		size_t j = 0;

		while (j < common && j < words[i].len &&
		       words[i].s[j] == words[0].s[j])
			j++;
		common = j;
	}
	if (n > 1 && common == stem) {
		cli_edit_list(el, words, n);
		return CC_REDISPLAY;
	}
	snprintf(add, sizeof(add), "%.*s%s", (int)(common - stem),
		 words[0].s + stem, n == 1 ? " " : "");
	return cli_libedit.el_insertstr(el, add) < 0 ? CC_ERROR : CC_REFRESH;
}

static void cli_edit_setup(struct hp_cli *cli, EditLine *el, History *hist)
{
	cli_libedit.el_set(el, EL_CLIENTDATA, cli);
	cli_libedit.el_set(el, EL_EDITOR, "emacs");
	cli_libedit.el_set(el, EL_PROMPT, cli_edit_prompt);
	cli_libedit.el_set(el, EL_HIST, cli_libedit.history, hist);
	cli_libedit.el_set(el, EL_GETCFN, cli_edit_getc);
	/* el_set would copy these two strings and never free them */
	cli_libedit.el_wset(el, EL_ADDFN, L"hp-complete",
			    L"complete a command word", cli_edit_complete);
	cli_libedit.el_set(el, EL_BIND, "^I", "hp-complete", NULL);
	/* the user's ~/.editrc may rebind keys, as in any libedit program */
	cli_libedit.el_source(el, NULL);
}

int hp_cli_run_interactive(struct hp_cli *cli, const char *prompt)
{
	const char *line;
	History *hist;
	HistEvent ev;
	EditLine *el;
	int count, res = 0;

	if (!cli || !prompt)
		return -EINVAL;
	res = cli_libedit_load(cli);
	if (res < 0)
		return res;
	hist = cli_libedit.history_init();
	if (!hist)
		return -ENOMEM;
	cli_libedit.history(hist, &ev, H_SETSIZE, CLI_HISTORY_SIZE);
	cli_libedit.history(hist, &ev, H_SETUNIQUE, 1);
	el = cli_libedit.el_init("hotport", stdin, stdout, stderr);
	if (!el) {
		res = -ENOMEM;
		goto out_history;
	}
	cli->prompt = prompt;
	cli->cancelled = false;
	cli_edit_setup(cli, el, hist);
	for (;;) {
		line = cli_libedit.el_gets(el, &count);
		if (cli->cancelled || !line) {
			/* end the prompt's line before what follows */
			if (isatty(STDIN_FILENO))
				fputc('\n', stdout);
			res = cli->cancelled ? -ECANCELED : 0;
			break;
		}
		if (line[strspn(line, " \t\r\n")] != '\0')
			cli_libedit.history(hist, &ev, H_ENTER, line);
		if (hp_cli_exec(cli, line) == HP_CLI_QUIT)
			break;
	}
	cli->prompt = NULL;
	cli_libedit.el_end(el);
out_history:
	cli_libedit.history_end(hist);
	return res;
}
