module bench.example/cold155

go 1.21
