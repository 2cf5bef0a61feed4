module bench.example/cold83

go 1.21
