module bench.example/cold81

go 1.21
