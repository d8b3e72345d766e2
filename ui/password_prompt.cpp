// PasswordPrompt: a queue of files and at most one QInputDialog, opened with open() (window-modal,
// no nested event loop), so the window keeps running while it waits.
#include "ui/password_prompt.h"

#include <QFileInfo>
#include <QInputDialog>
#include <QLineEdit>

namespace m1::ui {

PasswordPrompt::PasswordPrompt(QWidget* parent) : QObject(parent), m_parent(parent) {}

void PasswordPrompt::ask(const QString& path, bool wrongPassword) {
    if (m_open && path == m_current) return;
    for (const Item& i : m_queue)
        if (i.path == path) return;
    m_queue.append({path, wrongPassword});
    if (!m_open) showNext();
}

void PasswordPrompt::showNext() {
    if (m_open || m_queue.isEmpty()) return;
    const Item item = m_queue.takeFirst();
    m_current = item.path;
    auto* d = new QInputDialog(m_parent);
    d->setObjectName("passwordDialog");
    d->setAttribute(Qt::WA_DeleteOnClose);
    d->setWindowModality(Qt::WindowModal);
    d->setWindowTitle(tr("Encrypted PDF"));
    d->setInputMode(QInputDialog::TextInput);
    d->setTextEchoMode(QLineEdit::Password);
    const QString name = QFileInfo(item.path).fileName();
    d->setLabelText(item.wrong ? tr("The password did not open %1. Try another (Cancel leaves it out):").arg(name)
                               : tr("%1 is encrypted. Its password (Cancel leaves it out):").arg(name));
    d->setOkButtonText(tr("Open"));
    const QString path = item.path;
    connect(d, &QInputDialog::textValueSelected, this, [this, path](const QString& pw) { emit passwordGiven(path, pw); });
    connect(d, &QDialog::rejected, this, [this, path] { emit declined(path); });
    // The next file's dialog opens once this one is gone (after its signals above).
    connect(d, &QDialog::finished, this, [this] {
        m_open = false;
        m_current.clear();
        QMetaObject::invokeMethod(this, &PasswordPrompt::showNext, Qt::QueuedConnection);
    });
    m_dialog = d;
    m_open = true;
    d->open();
}

}  // namespace m1::ui
