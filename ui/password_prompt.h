// Asks for the passwords of encrypted PDFs, one window-modal dialog at a time (never a storm: files
// that need one while a dialog is open wait in a queue, each asked once); Cancel skips that file.
#pragma once
#include <QInputDialog>
#include <QObject>
#include <QPointer>
#include <QStringList>


class QWidget;

namespace m1::ui {

class PasswordPrompt : public QObject {
    Q_OBJECT
public:
    explicit PasswordPrompt(QWidget* parent);
    // Queues `path` (ignored when it is already open or waiting); wrongPassword changes the wording.
    void ask(const QString& path, bool wrongPassword);
    // The dialog on screen, or null (tests drive it).
    QInputDialog* dialog() const { return m_open ? m_dialog.data() : nullptr; }
    int pending() const { return int(m_queue.size()); }

signals:
    void passwordGiven(const QString& path, const QString& password);
    void declined(const QString& path);

private:
    void showNext();
    struct Item {
        QString path;
        bool wrong = false;
    };
    QWidget* m_parent;
    QList<Item> m_queue;
    QPointer<QInputDialog> m_dialog;
    QString m_current;
    bool m_open = false;  // a dialog is on screen (m_dialog may outlive it until deleted)
};

}  // namespace m1::ui
