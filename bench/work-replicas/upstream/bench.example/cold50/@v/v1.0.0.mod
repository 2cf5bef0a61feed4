module bench.example/cold50

go 1.21
